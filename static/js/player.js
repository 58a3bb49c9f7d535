/*
 * The lesson player: sends the position to the progress API when playback starts, while the
 * video plays (every ~10 s), and on pause, end and leaving the page, and keeps the "watched"
 * text in step. The server credits only what the time between two heartbeats allows, so the
 * first one at the start is what lets a short clip watched to its end count.
 *
 * Two players, one script: Mux Player (<mux-player>, for Mux videos) and the browser's own
 * <video> (for video files); both have currentTime/paused/play/pause and the media events.
 *
 * Signed videos carry short-lived tokens, signed files a short-lived URL
 * (LMS_PLAYBACK_TOKEN_TTL). A page left open longer than that would fetch with expired ones,
 * so fresh ones come from the playback API before the old ones run out, keeping the
 * position; when the API refuses (access lost), the player says why.
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
  var isFile = player.tagName === "VIDEO";
  // While a file video switches to a fresh URL its currentTime reads 0: no heartbeat then.
  var switching = false;

  function playAgain() {
    var started = player.play();
    if (started && started.catch) {
      started.catch(function () {
        // The browser wants a new gesture: the learner presses play.
      });
    }
  }

  function whenMetadata(callback) {
    if (player.readyState >= 1) {
      callback();
    } else {
      player.addEventListener("loadedmetadata", callback, { once: true });
    }
  }

  // A file video resumes where the learner left off (Mux Player has start-time for that).
  if (isFile && player.dataset.startTime) {
    whenMetadata(function () {
      var start = Number(player.dataset.startTime);
      if (isFinite(start) && start > 0 && player.currentTime < 1) {
        player.currentTime = start;
      }
    });
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
    if (!isFile && (!window.customElements || !window.customElements.get("mux-player"))) {
      showMissing();
    }
  }, 5000);

  // --- Fresh playback tokens before the old ones expire ----------------------------------
  // Refresh at 80% of a token's life, and at once when the page shows again or playback
  // starts after that (background tabs throttle timers). A life is the token's `exp` minus
  // the server's "now" (the page's data-server-time, the API's Date header), counted on this
  // device's clock from when the tokens arrived: a device clock that is off does not matter.
  // Both "now"s are whole seconds, so each counts as the end of its second: a life is never
  // overestimated. MIN_DELAY_MS keeps a tiny TTL or a slow network from a burst of requests.
  var REFRESH_AT = 0.8;
  var RETRY_MS = 15000;
  var MIN_DELAY_MS = 1000;
  var MAX_DELAY_MS = 2147483647; // setTimeout fires at once beyond this
  var playbackUrl = player.dataset.playbackUrl;
  var refreshAt = null;
  var refreshTimer = null;
  var refreshing = false;

  function tokenExpiry(token) {
    try {
      var payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var exp = JSON.parse(window.atob(payload)).exp;
      return typeof exp === "number" ? exp : null;
    } catch (error) {
      return null;
    }
  }

  function refreshIn(delay) {
    window.clearTimeout(refreshTimer);
    var clamped = Math.min(Math.max(MIN_DELAY_MS, delay), MAX_DELAY_MS);
    refreshTimer = window.setTimeout(refresh, clamped);
  }

  function expiry() {
    if (isFile) {
      var exp = Number(player.dataset.expiresAt);
      return player.dataset.expiresAt && isFinite(exp) ? exp : null;
    }
    return tokenExpiry(player.getAttribute("playback-token") || "");
  }

  function schedule(serverNow) {
    var exp = expiry();
    if (exp === null || !isFinite(serverNow)) {
      return;
    }
    var lifeMs = Math.max(0, (exp - serverNow - 1) * 1000);
    refreshAt = Date.now() + lifeMs * REFRESH_AT;
    refreshIn(lifeMs * REFRESH_AT);
  }

  function refreshIfDue() {
    if (refreshAt !== null && Date.now() >= refreshAt) {
      refresh();
    }
  }

  function applyTokens(tokens) {
    if (!tokens) {
      // The video has become public: it plays without tokens.
      ["playback-token", "thumbnail-token", "storyboard-token"].forEach(function (name) {
        player.removeAttribute(name);
      });
      return;
    }
    var position = player.currentTime;
    var playing = player.paused === false;
    // A new token reloads the stream, which starts at `start-time`: where the learner is.
    if (typeof position === "number" && isFinite(position) && position > 0) {
      player.setAttribute("start-time", String(position));
    }
    player.setAttribute("playback-token", tokens.video);
    player.setAttribute("thumbnail-token", tokens.thumbnail);
    player.setAttribute("storyboard-token", tokens.storyboard);
    if (playing) {
      player.addEventListener("canplay", playAgain, { once: true });
    }
  }

  function applyFile(file, expiresAt) {
    var stamp = Date.parse(expiresAt || "");
    if (isNaN(stamp)) {
      delete player.dataset.expiresAt; // the URL no longer expires
    } else {
      player.dataset.expiresAt = String(Math.floor(stamp / 1000));
    }
    if (player.getAttribute("src") === file.url) {
      return;
    }
    var position = player.currentTime;
    var playing = player.paused === false;
    switching = true;
    player.addEventListener(
      "loadedmetadata",
      function () {
        if (isFinite(position) && position > 0) {
          player.currentTime = position;
        }
        switching = false;
        if (playing) {
          playAgain();
        }
      },
      { once: true }
    );
    player.src = file.url; // reloads the element: position and play state come back above
  }

  function applyPlayback(body) {
    if (isFile !== (body.source === "file")) {
      showLost(""); // the lesson's video changed source: the page must be reloaded
    } else if (isFile) {
      applyFile(body.file, body.expires_at);
    } else {
      applyTokens(body.tokens);
    }
  }

  function showLost(code) {
    window.clearTimeout(refreshTimer);
    refreshAt = null;
    var notices = document.querySelectorAll("template[data-player-lost]");
    var notice = null;
    for (var i = 0; i < notices.length; i++) {
      if (notices[i].dataset.playerLost === code || (!notice && !notices[i].dataset.playerLost)) {
        notice = notices[i];
      }
    }
    if (!notice || !player.isConnected) {
      return;
    }
    if (typeof player.pause === "function") {
      player.pause();
    }
    player.parentElement.replaceWith(notice.content.cloneNode(true));
  }

  function refused(status) {
    return status >= 400 && status < 500 && status !== 429;
  }

  function refresh() {
    if (refreshing || !player.isConnected) {
      return;
    }
    refreshing = true;
    window.clearTimeout(refreshTimer);
    fetch(playbackUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            if (response.ok && body && body.status === "ready") {
              var date = Date.parse(response.headers.get("Date") || "");
              applyPlayback(body);
              schedule(isNaN(date) ? Date.now() / 1000 : date / 1000);
            } else if (response.ok || refused(response.status)) {
              // Refused (access lost, signed out, lesson gone) or no longer playable.
              var code = body && body.error ? body.error.code : "";
              showLost(response.status === 401 ? "LOGIN_REQUIRED" : code);
            } else {
              refreshIn(RETRY_MS); // the server is away: the current tokens may still do
            }
          });
      })
      .catch(function () {
        refreshIn(RETRY_MS); // offline: try again
      })
      .finally(function () {
        refreshing = false;
      });
  }

  if (playbackUrl) {
    schedule(Number(player.dataset.serverTime));
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        refreshIfDue();
      }
    });
    window.addEventListener("pageshow", refreshIfDue);
    player.addEventListener("play", refreshIfDue);
    player.addEventListener("error", refreshIfDue);
  }

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
      // Now as the page shows a completed lesson: no bar, no "completes when" hint.
      if (bar) {
        bar.value = 100;
        bar.hidden = true;
      }
      var section = text && text.closest(".lesson-status");
      var hint = section && section.querySelector(".lesson-status__hint");
      if (hint) {
        hint.hidden = true;
      }
      // The sidebar's course progress, as the server rendered it for this lesson completed.
      var after = document.querySelector("template[data-progress-when-completed]");
      var box = after && after.parentElement.querySelector(".course-progress");
      if (box) {
        box.replaceWith(after.content.cloneNode(true));
        after.remove();
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
  var sendAgain = false; // a position came while one was on its way: send it after

  function send(options) {
    var position = player.currentTime;
    if (switching) {
      return;
    }
    if (typeof position !== "number" || !isFinite(position) || position === lastSent) {
      return;
    }
    if (sending && !(options && options.keepalive)) {
      sendAgain = true;
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
        if (sendAgain) {
          sendAgain = false;
          send();
        }
      });
  }

  var timer = null;
  player.addEventListener("playing", function () {
    if (timer === null) {
      // A heartbeat where playback starts: the next one is credited from here.
      send();
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

  // --- Analytics: what the learner does with the video (static/js/analytics.js) ------------
  // Play, pause, seek (from where to where: back is a rewatch, forward a skip) and speed, as
  // client events; nothing while a file switches URL, and no seek before the first play
  // (resuming where the learner left off is not a skip).
  function track(type, properties) {
    if (window.lmsAnalytics && !switching) {
      window.lmsAnalytics.track(type, properties);
    }
  }
  function here() {
    var time = player.currentTime;
    return typeof time === "number" && isFinite(time) ? Math.max(0, time) : 0;
  }
  var played = false;
  var lastTime = 0;
  var seekFrom = null;
  player.addEventListener("timeupdate", function () {
    if (!player.seeking && !switching) {
      lastTime = here();
    }
  });
  player.addEventListener("play", function () {
    played = true;
    track("video.play", { position: here() });
  });
  player.addEventListener("pause", function () {
    if (!player.ended) {
      track("video.pause", { position: here() });
    }
  });
  player.addEventListener("seeking", function () {
    if (played && seekFrom === null && !switching) {
      seekFrom = lastTime;
    }
  });
  player.addEventListener("seeked", function () {
    var to = here();
    if (seekFrom !== null && Math.abs(to - seekFrom) >= 1) {
      track("video.seek", { from: seekFrom, to: to });
    }
    seekFrom = null;
    lastTime = to;
  });
  player.addEventListener("ratechange", function () {
    var rate = Number(player.playbackRate);
    if (rate >= 0.1 && rate <= 16) {
      track("video.rate", { position: here(), rate: rate });
    }
  });

  // --- Moments from the lesson's discussion ----------------------------------------------
  // A thread's timestamp links here as `#t=<seconds>` (from its own page) or carries
  // `data-seek` (in the lesson page's discussion section): both move the player there.
  // Seeking credits nothing by itself: the server counts only time between heartbeats.
  function seekTo(seconds) {
    if (!isFinite(seconds) || seconds < 0) {
      return;
    }
    whenMetadata(function () {
      player.currentTime = seconds;
    });
    player.scrollIntoView({ block: "center" });
  }
  function seekFromHash() {
    var match = /^#t=(\d{1,6})$/.exec(window.location.hash);
    if (match) {
      seekTo(Number(match[1]));
    }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-seek]") : null;
    if (link) {
      event.preventDefault();
      seekTo(Number(link.getAttribute("data-seek")));
    }
  });
  window.addEventListener("hashchange", seekFromHash);
  seekFromHash();
})();
