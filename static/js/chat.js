// Live chat page (templates/community/chat.html): the socket at data-socket-path, protocol in
// community/consumers.py. It catches up from the last message number shown (?after=<seq>)
// and again after every reconnect (with backoff), shows the online count, and sends through
// the socket when it is open; otherwise the form posts to the page as it does without JS.
// User text is only ever set with textContent; the one HTML inserted is the server's
// sanitised body_html.
(function () {
  "use strict";
  var log = document.getElementById("chat-log");
  if (!log || !window.WebSocket) return;
  var form = document.getElementById("chat-form");
  var status = document.getElementById("chat-status");
  var socketError = document.getElementById("chat-socket-error");
  var text = log.dataset;
  var lastSeq = parseInt(text.lastSeq, 10) || 0;
  var online = null;
  var socket = null;
  var backoff = 1000;
  var pinger = null;
  var closedForGood = false;

  function setStatus(message) {
    status.textContent = online === null ? message : message + " · " + online + " " + text.textOnline;
  }

  function byId(id) {
    return log.querySelector('[data-id="' + id + '"]');
  }

  function fill(item, message) {
    item.textContent = "";
    var meta = document.createElement("p");
    meta.className = "chat-message__meta";
    var author = document.createElement("span");
    author.className = "chat-message__author";
    author.textContent = message.author ? message.author.name : text.textSite;
    var time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = new Date(message.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    meta.append(author, " ", time);
    if (message.edited_at) {
      var edited = document.createElement("span");
      edited.className = "chat-message__edited";
      edited.textContent = text.textEdited;
      meta.append(" ", edited);
    }
    var body = document.createElement("div");
    body.className = "chat-message__body";
    body.innerHTML = message.body_html; // sanitised by the server (lms/markdown.py)
    item.append(meta, body);
  }

  function add(message) {
    lastSeq = Math.max(lastSeq, message.seq);
    if (byId(message.id)) return; // already shown (the page, or a repeat)
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    var item = document.createElement("li");
    item.className = "chat-message";
    item.id = "m-" + message.seq;
    item.dataset.id = message.id;
    item.dataset.seq = message.seq;
    fill(item, message);
    // In number order, whatever order the events came in.
    var after = null;
    log.querySelectorAll("[data-seq]").forEach(function (other) {
      if (after === null && parseInt(other.dataset.seq, 10) > message.seq) after = other;
    });
    log.insertBefore(item, after);
    if (!after) log.scrollTop = log.scrollHeight;
  }

  function handle(frame) {
    if (frame.type === "message") add(frame.message);
    else if (frame.type === "message.edit") {
      var item = byId(frame.message.id);
      if (item) fill(item, frame.message);
    } else if (frame.type === "message.delete") {
      var gone = byId(frame.message.id);
      if (gone) gone.remove();
    } else if (frame.type === "presence") {
      online = frame.online;
      setStatus(text.textLive);
    } else if (frame.type === "ready") {
      lastSeq = Math.max(lastSeq, frame.last_seq);
      setStatus(text.textLive);
    } else if (frame.type === "error") {
      socketError.textContent = frame.message;
      socketError.hidden = false;
    }
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs HTTPS; this does not
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + text.socketPath + "?after=" + lastSeq);
    socket.addEventListener("open", function () {
      backoff = 1000;
      pinger = setInterval(function () {
        socket.send(JSON.stringify({ type: "ping" }));
      }, 30000);
    });
    socket.addEventListener("message", function (event) {
      handle(JSON.parse(event.data));
    });
    socket.addEventListener("close", function (event) {
      clearInterval(pinger);
      socket = null;
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) {
        closedForGood = true;
        online = null;
        setStatus(text.textGone);
        return;
      }
      setStatus(text.textReconnecting);
      setTimeout(connect, backoff + Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      if (!socket || socket.readyState !== WebSocket.OPEN || closedForGood) return; // post the form
      event.preventDefault();
      var body = form.elements.body.value;
      if (!body.trim()) return;
      socketError.hidden = true;
      socket.send(JSON.stringify({ type: "message.send", client_id: uuid4(), body: body }));
      form.elements.body.value = "";
    });
  }
  connect();
})();
