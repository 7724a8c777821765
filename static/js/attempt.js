// The quiz page, enhanced: saves each answer as it is given, counts down to the server's deadline, and
// submits when time is up. Without it the page still works as plain forms; the server keeps the clock.
(function () {
  "use strict";
  const root = document.getElementById("attempt");
  if (!root) return;
  const form = document.getElementById("question-form");
  const saveState = document.getElementById("save-state");
  const feedback = document.getElementById("feedback");
  const submitForm = document.getElementById("submit-form");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const reveal = root.dataset.reveal === "1";
  const gettext = window.gettext || ((text) => text);

  function choices() {
    return Array.from(form.querySelectorAll("input[name=choice]:checked")).map((input) => input.value);
  }

  async function save() {
    const body = new URLSearchParams();
    body.append("csrfmiddlewaretoken", csrf);
    body.append("position", form.querySelector("input[name=position]").value);
    choices().forEach((value) => body.append("choice", value));
    saveState.textContent = gettext("Saving…");
    try {
      // The attempt's answer token lets the server skip the session; without it (or once it has expired)
      // the CSRF token in the body does (quizzes/access.py).
      const headers = { Accept: "application/json" };
      if (root.dataset.answerToken) headers["X-Answer-Token"] = root.dataset.answerToken;
      const response = await fetch(root.dataset.answerUrl, {
        method: "POST", body, headers, credentials: "same-origin",
      });
      const data = await response.json();
      if (!data.ok) {
        saveState.textContent = data.message;
        if (data.code === "attempt_closed") window.location.href = root.dataset.reviewUrl;
        return;
      }
      saveState.textContent = gettext("Answer saved.");
      document.querySelector(".dot.current")?.classList.add("done");
      if (reveal && data.feedback) showFeedback(data.feedback);
    } catch (error) {
      // Offline for a moment: the form post on "Next" saves it again.
      saveState.textContent = gettext("Not saved yet: check your connection. Your answer is sent again when you go on.");
    }
  }

  function showFeedback(data) {
    form.querySelector("fieldset").disabled = true;
    form.querySelectorAll("input[name=choice]").forEach((input) => {
      const label = input.closest(".option");
      if (data.correct.includes(Number(input.value))) label.classList.add("option-right");
      else if (input.checked) label.classList.add("option-wrong");
    });
    feedback.innerHTML = "";
    const verdict = document.createElement("p");
    verdict.className = "feedback-verdict " + (data.right ? "right" : "wrong");
    verdict.textContent = data.message;
    feedback.appendChild(verdict);
    if (data.explanation) {
      const why = document.createElement("p");
      why.textContent = data.explanation;
      feedback.appendChild(why);
    }
    feedback.classList.remove("hidden");
  }

  form.addEventListener("change", (event) => {
    if (event.target.name !== "choice") return;
    // One answer in "show at once" mode: a checkbox question is saved when the student moves on.
    if (reveal && event.target.type === "checkbox") return;
    save();
  });

  // Submits with the answer token and opens the review page; whatever goes wrong (no token, refused, offline)
  // falls back to the plain form post, which the session and the CSRF token in the form carry.
  async function submitAttempt() {
    if (root.dataset.answerToken) {
      try {
        const response = await fetch(submitForm.action, {
          method: "POST",
          headers: { Accept: "application/json", "X-Answer-Token": root.dataset.answerToken },
          credentials: "same-origin",
        });
        if (response.ok) {
          const data = await response.json();
          window.location.assign(data.review_url);
          return;
        }
      } catch (error) {
        // Offline for a moment: the form post below tries again.
      }
    }
    submitForm.submit();
  }

  submitForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = submitForm.querySelector("button");
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    button.disabled = true;
    submitAttempt();
  });

  const deadline = root.dataset.deadline ? Date.parse(root.dataset.deadline) : null;
  if (deadline) {
    const offset = Date.parse(root.dataset.serverNow) - Date.now();
    const display = document.getElementById("countdown");
    const tick = () => {
      const left = Math.max(0, deadline - (Date.now() + offset));
      const minutes = Math.floor(left / 60000);
      const seconds = Math.floor((left % 60000) / 1000);
      display.textContent = `${minutes}:${String(seconds).padStart(2, "0")}`;
      display.parentElement.classList.toggle("urgent", left < 60000);
      if (left <= 0) {
        clearInterval(timer);
        submitAttempt();
      }
    };
    const timer = setInterval(tick, 250);
    tick();
  }
})();
