/*
 * Video file uploads in the admin (the source beside Mux): the `[data-video-file-form]`
 * form posts its fields and the file to our server with XMLHttpRequest, whose upload
 * progress drives the progress bar. The server answers 201 {"change_url", "video"} or the
 * error envelope {"error": {"code", "message", "fields"}}, whose field errors are shown
 * beside the fields. Without JavaScript the form posts as a plain form.
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-video-file-form]");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;

  var progress = form.querySelector("[data-upload-progress]");
  var percent = form.querySelector("[data-upload-percent]");
  var message = form.querySelector("[data-upload-message]");
  var submit = form.querySelector("[data-upload-submit]");
  var fileInput = form.querySelector("input[type=file]");

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("errornote", Boolean(isError));
  }

  function setProgress(value) {
    progress.value = value;
    progress.textContent = value + "%";
    percent.textContent = value + "%";
  }

  function showErrors(fields) {
    form.querySelectorAll("[data-field-error]").forEach(function (node) {
      var errors = fields[node.getAttribute("data-field-error")] || [];
      node.textContent = errors.join(" ");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showErrors({});
    var file = fileInput.files[0];
    var limit = Number(fileInput.getAttribute("data-max-bytes"));
    if (!file) {
      showErrors({ file: ["Choose an MP4 or WebM file."] });
      return;
    }
    if (limit && file.size > limit) {
      showErrors({ file: ["The file is " + file.size + " bytes; the limit is " + limit + " bytes."] });
      return;
    }
    var request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("action").split("#")[0]);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.upload.addEventListener("progress", function (progressEvent) {
      if (progressEvent.lengthComputable) {
        setProgress(Math.floor((progressEvent.loaded * 100) / progressEvent.total));
      }
    });
    request.addEventListener("load", function () {
      submit.disabled = false;
      var body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch (error) {
        body = null;
      }
      if (request.status === 201 && body) {
        setProgress(100);
        say("Uploaded: “" + body.video.title + "” is ready. Opening it…");
        window.location.assign(body.change_url);
        return;
      }
      setProgress(0);
      if (body && body.error) {
        showErrors(body.error.fields || {});
        say(body.error.message, true);
      } else if (request.status === 413) {
        say("The server refused a file this large.", true);
      } else {
        say("The upload failed (HTTP " + request.status + "). Try again.", true);
      }
    });
    request.addEventListener("error", function () {
      submit.disabled = false;
      setProgress(0);
      say("The connection was lost during the upload. Try again.", true);
    });
    submit.disabled = true;
    setProgress(0);
    say("Uploading…");
    request.send(new FormData(form));
  });
})();
