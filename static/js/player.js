/*
 * The lesson player: sends the position to the progress API while the video plays (every
 * ~10 s, and on pause, end and leaving the page), and keeps the "watched" text in step.
 *
 * Mux Player itself (vendor/mux-player/mux-player.js, from npm) defines <mux-player>; when
 * it does not load, the page says the player is not installed.
 */
(function () {
  "use strict";

  var HEARTBEAT_MS = 10000;
  var MISSING_TEXT = "The video player is not installed (run make with npm)";

  var player = document.getElementById("lesson-player");
  if (!player) {
    return;
  }

  function showMissing() {
    if (document.querySelector("[data-player-missing]")) {
      return;
    }
    var note = document.createElement("p");
    note.className = "player-placeholder";
    note.setAttribute("role", "note");
    note.setAttribute("data-player-missing", "");
    note.textContent = MISSING_TEXT;
    player.parentElement.replaceWith(note);
  }

  // If the script was not served (npm never ran), the element stays undefined.
  window.setTimeout(function () {
    if (!window.customElements || !window.customElements.get("mux-player")) {
      showMissing();
    }
  }, 5000);

  var url = player.dataset.positionUrl;
  var csrf = player.dataset.csrfToken;
  if (!url) {
    return; // visitors: nothing to save
  }

  function updateWatched(body) {
    var text = document.getElementById("watched-text");
    var bar = document.querySelector(".lesson-status__bar");
    if (body.status === "completed") {
      if (text) {
        text.textContent = "";
        var strong = document.createElement("strong");
        strong.textContent = player.dataset.completedText || "Completed";
        text.appendChild(strong);
      }
      if (bar) {
        bar.value = 100;
      }
      return;
    }
    if (text) {
      var state = text.querySelector("strong");
      if (state && body.status === "in_progress" && player.dataset.inProgressText) {
        state.textContent = player.dataset.inProgressText;
      }
      // The text is translated; only its "<n>%" part changes.
      var walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {
        var node = walker.currentNode;
        if (/\d+\s?%/.test(node.nodeValue)) {
          node.nodeValue = node.nodeValue.replace(/\d+(\s?)%/, body.watched_percent + "$1%");
        }
      }
    }
    if (bar) {
      bar.value = body.watched_percent;
      bar.textContent = body.watched_percent + "%";
    }
  }

  var lastSent = null;
  var sending = false;

  function send(options) {
    var position = player.currentTime;
    if (typeof position !== "number" || !isFinite(position) || position === lastSent) {
      return;
    }
    if (sending && !(options && options.keepalive)) {
      return;
    }
    lastSent = position;
    sending = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(options && options.keepalive),
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrf,
      },
      body: JSON.stringify({ position_seconds: Math.max(0, position) }),
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body) {
          updateWatched(body);
        }
      })
      .catch(function () {
        // Offline or the server is away: the next heartbeat carries the position.
      })
      .finally(function () {
        sending = false;
      });
  }

  var timer = null;
  player.addEventListener("playing", function () {
    if (timer === null) {
      timer = window.setInterval(send, HEARTBEAT_MS);
    }
  });
  function stop() {
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
    send();
  }
  player.addEventListener("pause", stop);
  player.addEventListener("ended", stop);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      send({ keepalive: true });
    }
  });
})();
