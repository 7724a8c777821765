// Question import: send the upload with XMLHttpRequest to show its progress, then a "reading" state while the
// server parses it and the preview loads. Without this script the form posts as usual.
(function () {
  "use strict";
  // The confirmation: one click imports once; a second click would only report the questions as duplicates.
  const confirm = document.querySelector("[data-bank-confirm]");
  if (confirm) {
    confirm.addEventListener("submit", (event) => {
      const buttons = confirm.querySelectorAll("button[type=submit]");
      if (event.submitter && event.submitter.name === "confirm") {
        confirm.querySelector("[data-busy-status]").textContent = confirm.dataset.busy;
      }
      // Disabled after the browser has taken the clicked button's name and value into the submission.
      setTimeout(() => buttons.forEach((button) => { button.disabled = true; }), 0);
    });
  }

  const form = document.querySelector("[data-bank-upload]");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const box = form.querySelector("[data-upload-progress]");
  const bar = box.querySelector("progress");
  const status = form.querySelector("[data-upload-status]");
  const errors = form.querySelector("[data-upload-errors]");
  const button = form.querySelector("button[type=submit]");

  function showErrors(messages) {
    errors.replaceChildren(...messages.map((message) => {
      const line = document.createElement("p");
      line.textContent = message;
      return line;
    }));
  }

  function reset() {
    button.disabled = false;
    box.hidden = true;
  }

  form.addEventListener("submit", (event) => {
    const input = form.querySelector("input[type=file]");
    if (!input || !input.files.length) return; // let the server say the file is missing
    event.preventDefault();
    showErrors([]);
    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    bar.removeAttribute("data-processing");
    status.textContent = `${form.dataset.uploading} 0%`;

    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.responseType = "json";
    request.upload.onprogress = (progress) => {
      if (!progress.lengthComputable) return;
      const percent = Math.round((100 * progress.loaded) / progress.total);
      bar.value = percent;
      status.textContent = `${form.dataset.uploading} ${percent}%`;
    };
    request.upload.onload = () => {
      // Uploaded: the server now stores the file and the preview reads it, which can take a while.
      bar.removeAttribute("value");
      status.textContent = form.dataset.processing;
    };
    request.onload = () => {
      const body = request.response || {};
      if (request.status === 200 && body.redirect) {
        bar.removeAttribute("value");
        status.textContent = form.dataset.processing;
        window.location.assign(body.redirect);
        return;
      }
      reset();
      showErrors(body.errors && body.errors.length ? body.errors : [form.dataset.failed]);
    };
    request.onerror = () => {
      reset();
      showErrors([form.dataset.failed]);
    };
    request.send(new FormData(form));
  });
})();
