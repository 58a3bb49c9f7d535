/*
 * The web client of the analytics store: a small queue of events posted in batches to
 * POST /api/v1/analytics/events/ (README "Analytics › Events: ingestion and storage").
 *
 * Configured by one element the page renders for signed-in learners:
 *   <div hidden id="lms-analytics" data-url="..." data-csrf-token="..." data-lesson="...">
 * (no inline script: the CSP allows none). On a lesson page it records `lesson.viewed` at
 * once; the player (static/js/player.js) adds its play/pause/seek/rate events through
 * `window.lmsAnalytics.track(type, properties)`.
 *
 * Events get their id here, so sending a batch again (after a network error) stores nothing
 * twice. The queue is flushed every few seconds, when it holds a full batch, and with fetch
 * keepalive when the page is hidden or left. A 429 waits for Retry-After; any other answer
 * drops what it answered (each event got its own accepted/duplicate/refused result).
 */
(function () {
  "use strict";

  var FLUSH_MS = 5000;
  var BATCH = 100; // the server takes up to LMS_ANALYTICS_BATCH_MAX (500)
  var MAX_QUEUED = 500; // offline for long: the oldest events go first

  var config = document.getElementById("lms-analytics");
  if (!config || !window.fetch || window.lmsAnalytics) {
    return;
  }
  var url = config.dataset.url;
  var csrf = config.dataset.csrfToken;
  var lesson = config.dataset.lesson || null;
  var course = config.dataset.course || null;
  var queue = [];
  var sending = false;
  var pausedUntil = 0;

  function uuid4() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return [
      hex.slice(0, 8),
      hex.slice(8, 12),
      hex.slice(12, 16),
      hex.slice(16, 20),
      hex.slice(20),
    ].join("-");
  }

  function track(type, properties, refs) {
    var event = {
      id: uuid4(),
      type: type,
      occurred_at: new Date().toISOString(),
      properties: properties || {},
    };
    var lessonId = refs && refs.lesson !== undefined ? refs.lesson : lesson;
    var courseId = refs && refs.course !== undefined ? refs.course : course;
    if (lessonId) {
      event.lesson = lessonId;
    }
    if (courseId) {
      event.course = courseId;
    }
    queue.push(event);
    if (queue.length > MAX_QUEUED) {
      queue.splice(0, queue.length - MAX_QUEUED);
    }
    if (queue.length >= BATCH) {
      flush();
    }
  }

  function flush(options) {
    var keepalive = Boolean(options && options.keepalive);
    if (!queue.length || (sending && !keepalive) || Date.now() < pausedUntil) {
      return;
    }
    var batch = queue.splice(0, BATCH);
    sending = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: keepalive,
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrf,
      },
      body: JSON.stringify({ app: { name: "web", version: "1" }, events: batch }),
    })
      .then(function (response) {
        if (response.status === 429 || response.status >= 500) {
          // Not stored: keep the batch (same ids) for later.
          var wait = Number(response.headers.get("Retry-After")) || 30;
          pausedUntil = Date.now() + wait * 1000;
          queue = batch.concat(queue).slice(0, MAX_QUEUED);
        }
      })
      .catch(function () {
        queue = batch.concat(queue).slice(0, MAX_QUEUED); // offline: try again later
      })
      .finally(function () {
        sending = false;
      });
  }

  window.lmsAnalytics = { track: track, flush: flush };
  window.setInterval(flush, FLUSH_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      flush({ keepalive: true });
    }
  });
  window.addEventListener("pagehide", function () {
    flush({ keepalive: true });
  });

  if (lesson && config.dataset.viewed !== undefined) {
    track("lesson.viewed");
  }
})();
