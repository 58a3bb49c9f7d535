/*
 * The lesson tutor panel (templates/assistant/_tutor.html): asks
 * POST /api/v1/lessons/<id>/tutor/ with `Accept: text/event-stream` and reads the answer
 * as it streams (fetch's body reader; README "AI assistant › Tutor"). Events:
 *   conversation {id, quota}   delta {text}   citations [{lesson, title, url}]
 *   done {message_id, quota}   error {code, message}
 * An answer that cannot start (quota used up, not configured, locked) comes back as the
 * API's JSON error envelope instead.
 *
 * The model's text is only ever set with textContent (never innerHTML); citation links
 * keep only this site's pages. Without JS (or fetch streams) the form posts to the page,
 * which shows the whole answer after a reload.
 */
(function () {
  "use strict";

  var form = document.getElementById("tutor-form");
  if (!form || !window.fetch || !window.TextDecoder || !window.ReadableStream) {
    return;
  }
  var panel = document.getElementById("tutor");
  var log = document.getElementById("tutor-log");
  var question = document.getElementById("tutor-question");
  var conversationInput = form.querySelector("input[name=conversation]");
  var button = form.querySelector("button[type=submit]");
  var status = document.getElementById("tutor-status");
  var quota = document.getElementById("tutor-quota");
  var text = panel.dataset;
  var asking = false;

  function setStatus(message) {
    status.textContent = message;
  }

  function showQuota(value) {
    if (!value || !quota) return;
    quota.textContent = text.textQuota
      .replace("{remaining}", value.remaining)
      .replace("{limit}", value.limit);
    quota.dataset.remaining = value.remaining;
    quota.dataset.limit = value.limit;
    if (value.remaining <= 0) {
      button.disabled = true;
      question.disabled = true;
      quota.textContent += " · " + text.textQuotaUsed;
    }
  }

  function item(role) {
    var empty = document.getElementById("tutor-empty");
    if (empty) empty.remove();
    log.hidden = false;
    var li = document.createElement("li");
    li.className = "tutor-message tutor-message--" + role;
    var who = document.createElement("p");
    who.className = "tutor-message__who";
    who.textContent = role === "user" ? text.textYou : text.textTutor;
    var body = document.createElement("div");
    body.className = "tutor-message__body tutor-message__body--plain";
    li.append(who, body);
    log.append(li);
    return { li: li, body: body };
  }

  // A citation's link as a path on this site (the API gives absolute URLs); null for any
  // other origin or scheme, which is never linked.
  function sameSitePath(url) {
    if (typeof url !== "string") return null;
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.origin === window.location.origin ? parsed.pathname + parsed.search + parsed.hash : null;
    } catch (e) {
      return null;
    }
  }

  function showCitations(answer, citations) {
    var shown = (citations || []).filter(function (c) { return sameSitePath(c.url); });
    if (!shown.length) return;
    var box = document.createElement("div");
    box.className = "tutor-sources";
    var heading = document.createElement("p");
    heading.className = "tutor-sources__title";
    heading.textContent = text.textSources;
    var list = document.createElement("ol");
    list.className = "tutor-sources__list";
    shown.forEach(function (citation) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = sameSitePath(citation.url);
      link.textContent = citation.title;
      li.append(link);
      list.append(li);
    });
    box.append(heading, list);
    answer.li.append(box);
  }

  function showFlag(answer, messageId) {
    if (!messageId || !text.flagUrl) return;
    var flag = document.createElement("form");
    flag.method = "post";
    flag.className = "tutor-message__flag";
    flag.action = text.flagUrl.replace("00000000-0000-0000-0000-000000000000", messageId);
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = text.csrfToken;
    var submit = document.createElement("button");
    submit.type = "submit";
    submit.className = "btn btn--ghost btn--small";
    submit.textContent = text.textFlag;
    flag.append(token, submit);
    answer.li.append(flag);
  }

  function fail(answer, message) {
    if (!question.value && answer.asked) question.value = answer.asked; // to try again
    answer.li.classList.add("tutor-message--error");
    var error = document.createElement("p");
    error.className = "tutor-message__error";
    error.setAttribute("role", "alert");
    error.textContent = message || text.textFailed;
    answer.li.append(error);
    answer.body.removeAttribute("aria-busy");
    setStatus("");
  }

  // One SSE event ("event: name\ndata: json" lines, ended by a blank line).
  function parseEvent(block) {
    var name = "message";
    var data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) name = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
    });
    if (!data.length) return null;
    try {
      return { name: name, data: JSON.parse(data.join("\n")) };
    } catch (e) {
      return null;
    }
  }

  function handle(event, answer, state) {
    var data = event.data;
    if (event.name === "conversation") {
      if (data.id) conversationInput.value = data.id;
      state.quota = data.quota;
      showQuota(data.quota);
    } else if (event.name === "delta") {
      answer.body.textContent += data.text || "";
    } else if (event.name === "citations") {
      state.citations = Array.isArray(data) ? data : data.citations;
    } else if (event.name === "done") {
      state.done = true;
      answer.body.removeAttribute("aria-busy");
      answer.li.dataset.id = data.message_id || "";
      showCitations(answer, state.citations);
      showFlag(answer, data.message_id);
      showQuota(data.quota);
      setStatus(text.textAnswered);
    } else if (event.name === "error") {
      state.failed = true;
      // The server gave the question back: so does the counter.
      if (state.quota) showQuota({ remaining: state.quota.remaining + 1, limit: state.quota.limit });
      fail(answer, data.message);
    }
  }

  function readStream(response, answer) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    var state = { citations: [], done: false, failed: false };
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          if (buffer.trim()) {
            var last = parseEvent(buffer.replace(/\r/g, ""));
            if (last) handle(last, answer, state);
          }
          if (!state.done && !state.failed) fail(answer, text.textFailed);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r/g, "");
        var end;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          var event = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event) handle(event, answer, state);
        }
        return pump();
      });
    }
    return pump();
  }

  function refused(response, answer) {
    return response
      .json()
      .catch(function () { return {}; })
      .then(function (body) {
        var error = (body && body.error) || {};
        if (error.code === "TUTOR_QUOTA_EXHAUSTED" && quota) {
          showQuota({ remaining: 0, limit: quota.dataset.limit });
        }
        var fields = error.fields && error.fields.question;
        fail(answer, (fields && fields.join(" ")) || error.message || text.textFailed);
      });
  }

  form.addEventListener("submit", function (submitEvent) {
    submitEvent.preventDefault();
    var asked = question.value.trim();
    if (!asked || asking) return;
    asking = true;
    button.disabled = true;
    var mine = item("user");
    mine.body.textContent = asked;
    var answer = item("assistant");
    answer.asked = asked;
    answer.body.setAttribute("aria-busy", "true");
    setStatus(text.textAnswering);
    question.value = "";
    fetch(text.apiUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "text/event-stream",
        "X-CSRFToken": text.csrfToken,
      },
      body: JSON.stringify({ question: asked, conversation: conversationInput.value || null }),
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("text/event-stream") === 0) return readStream(response, answer);
        return refused(response, answer);
      })
      .catch(function () {
        fail(answer, text.textOffline);
      })
      .finally(function () {
        asking = false;
        if (!quota || Number(quota.dataset.remaining) > 0) button.disabled = false;
      });
  });
})();
