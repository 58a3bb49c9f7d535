/*
 * Video uploads in the admin's media library.
 *
 * A `[data-video-upload-form]` element (the upload page's form, or a fieldset on a video's
 * change page) holds a file input and a progress bar. Submitting it posts the other fields to
 * `data-endpoint` on our server, which creates a Mux direct upload and answers
 * {"upload_url", "status_url", "change_url", "video"}; the file then goes from the browser
 * straight to Mux with UpChunk (served from our static files), in chunks that are retried on
 * failure, paused and resumed (also when the connection drops). Afterwards, and on any page
 * with a `[data-video-status][data-status-url]`, the video's status is polled until Mux has
 * it ready (or errored).
 */
(function () {
  "use strict";

  var POLL_MS = 3000;
  var FINAL = ["ready", "errored", "deleted"];

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function pollStatus(element) {
    var url = element.getAttribute("data-status-url");
    if (!url || FINAL.indexOf(element.getAttribute("data-status")) !== -1) return;
    var timer = window.setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (video) {
          if (!video) return;
          element.textContent = video.status_label;
          element.setAttribute("data-status", video.status);
          var error = element.parentNode.querySelector("[data-video-error]");
          if (error) error.textContent = video.error || "";
          if (FINAL.indexOf(video.status) !== -1) window.clearInterval(timer);
        })
        .catch(function () { /* a missed poll: try again on the next tick */ });
    }, POLL_MS);
  }

  function Uploader(root) {
    this.root = root;
    this.fileInput = root.querySelector("input[type=file]");
    this.progress = root.querySelector("[data-upload-progress]");
    this.percent = root.querySelector("[data-upload-percent]");
    this.message = root.querySelector("[data-upload-message]");
    this.submit = root.querySelector("[data-upload-submit]") ||
      document.querySelector("[data-upload-submit]");
    this.pauseButton = root.querySelector("[data-upload-pause]");
    this.resumeButton = root.querySelector("[data-upload-resume]");
    this.retryButton = root.querySelector("[data-upload-retry]");
    this.upload = null;
    this.uploading = false;
    this.bind();
  }

  Uploader.prototype.say = function (text, isError) {
    this.message.textContent = text;
    this.message.classList.toggle("errornote", Boolean(isError));
  };

  Uploader.prototype.show = function (button, visible) {
    if (button) button.hidden = !visible;
  };

  Uploader.prototype.setProgress = function (value) {
    var rounded = Math.floor(value);
    this.progress.value = rounded;
    this.progress.textContent = rounded + "%";
    this.percent.textContent = rounded + "%";
  };

  Uploader.prototype.bind = function () {
    var self = this;
    if (this.root.tagName === "FORM") {
      this.root.addEventListener("submit", function (event) {
        event.preventDefault();
        self.start();
      });
    } else if (this.submit) {
      this.submit.addEventListener("click", function () { self.start(); });
    }
    this.pauseButton.addEventListener("click", function () {
      if (!self.upload) return;
      self.upload.pause();
      self.show(self.pauseButton, false);
      self.show(self.resumeButton, true);
      self.say("Paused. Resume to continue where it stopped.");
    });
    this.resumeButton.addEventListener("click", function () {
      if (!self.upload) return;
      self.upload.resume();
      self.show(self.resumeButton, false);
      self.show(self.pauseButton, true);
      self.say("Uploading…");
    });
    this.retryButton.addEventListener("click", function () {
      self.show(self.retryButton, false);
      self.sendFile(self.target);
    });
    window.addEventListener("beforeunload", function (event) {
      if (self.uploading) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  };

  Uploader.prototype.fields = function () {
    var data = new FormData();
    this.root.querySelectorAll("input[name], select[name], textarea[name]").forEach(
      function (field) {
        if (field.type !== "file") data.append(field.name, field.value);
      }
    );
    return data;
  };

  Uploader.prototype.start = function () {
    var self = this;
    var file = this.fileInput.files[0];
    this.root.querySelectorAll("[data-field-error]").forEach(function (el) { el.textContent = ""; });
    if (typeof window.UpChunk === "undefined") {
      this.say("The uploader (UpChunk) is not installed on this server: videos cannot be uploaded.", true);
      return;
    }
    if (!file) {
      this.say("Choose a video file first.", true);
      return;
    }
    var confirmText = this.root.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) return;
    this.submit.disabled = true;
    this.say("Creating the upload…");
    fetch(this.root.getAttribute("data-endpoint"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: this.fields(),
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) {
          var error = result.body.error || {};
          Object.keys(error.fields || {}).forEach(function (name) {
            var target = self.root.querySelector('[data-field-error="' + name + '"]');
            if (target) target.textContent = error.fields[name].join(" ");
          });
          self.say(error.message || "The upload could not be created.", true);
          self.submit.disabled = false;
          return;
        }
        self.target = result.body;
        self.sendFile(result.body);
      })
      .catch(function () {
        self.say("The server could not be reached. Try again.", true);
        self.submit.disabled = false;
      });
  };

  Uploader.prototype.sendFile = function (target) {
    var self = this;
    var file = this.fileInput.files[0];
    this.uploading = true;
    this.fileInput.disabled = true;
    this.setProgress(0);
    this.say("Uploading…");
    this.show(this.pauseButton, true);
    this.show(this.resumeButton, false);
    var upload = window.UpChunk.createUpload({
      endpoint: target.upload_url,
      file: file,
      chunkSize: 30720, // KB; a multiple of 256 as Mux requires
      dynamicChunkSize: true,
      attempts: 5,
      delayBeforeAttempt: 2,
    });
    this.upload = upload;
    upload.on("progress", function (event) { self.setProgress(event.detail); });
    upload.on("attemptFailure", function (event) {
      self.say("A chunk failed; retrying (" + event.detail.attemptsLeft + " attempts left)…");
    });
    upload.on("offline", function () { self.say("Offline: the upload resumes when the connection returns."); });
    upload.on("online", function () { self.say("Back online: uploading…"); });
    upload.on("error", function (event) {
      self.uploading = false;
      self.show(self.pauseButton, false);
      self.show(self.retryButton, true);
      self.say("The upload failed: " + event.detail.message + " Retry to send the file again.", true);
    });
    upload.on("success", function () {
      self.uploading = false;
      self.setProgress(100);
      self.show(self.pauseButton, false);
      self.say("Uploaded. Mux is preparing the video; its status updates below.");
      self.followStatus(target);
    });
  };

  Uploader.prototype.followStatus = function (target) {
    var done = document.querySelector("[data-upload-done]");
    var status = document.querySelector("[data-video-status]");
    if (done) {
      done.hidden = false;
      var link = done.querySelector("[data-video-change-link]");
      if (link) link.href = target.change_url;
    }
    if (status) {
      status.textContent = target.video.status_label;
      status.setAttribute("data-status", target.video.status);
      status.setAttribute("data-status-url", target.status_url);
      pollStatus(status);
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-video-upload-form]").forEach(function (root) {
      new Uploader(root);
    });
    document.querySelectorAll("[data-video-status][data-status-url]").forEach(pollStatus);
  });
})();
