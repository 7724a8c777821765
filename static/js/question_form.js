// Question form: show option rows as needed, partial credit only for multiple choice, one tick for single
// choice and true/false, and 正确/错误 (True/False) filled in for a new true-or-false question.
// Without this script every row is shown and the server checks the same rules.
(function () {
  "use strict";
  const form = document.getElementById("question-form");
  if (!form) return;
  const typeSelect = form.elements["type"];
  const languageSelect = form.elements["language"];
  const rows = Array.from(form.querySelectorAll("[data-option-row]"));
  const addButton = form.querySelector("[data-add-option]");
  const partial = form.querySelector("[data-partial-credit]");
  const defaultsNode = document.getElementById("true-false-options");
  const trueFalse = defaultsNode ? JSON.parse(defaultsNode.textContent) : {};
  const text = (row) => row.querySelector("input[type=text]");
  const tick = (row) => row.querySelector("input[type=checkbox]");
  const isUsed = (row) => text(row).value.trim() !== "" || tick(row).checked;

  function lastUsed() {
    let last = -1;
    rows.forEach((row, index) => { if (isUsed(row)) last = index; });
    return last;
  }

  function showRows(count) {
    rows.forEach((row, index) => { row.hidden = index >= count; });
    const visible = rows.filter((row) => !row.hidden).length;
    addButton.hidden = typeSelect.value === "true_false" || visible >= rows.length;
  }

  function fillTrueFalse(replaceDefaults) {
    const words = trueFalse[languageSelect.value];
    if (!words) return;
    const [first, second] = [text(rows[0]), text(rows[1])];
    const known = Object.values(trueFalse).some((pair) => pair[0] === first.value && pair[1] === second.value);
    if ((first.value === "" && second.value === "") || (replaceDefaults && known)) {
      first.value = words[0];
      second.value = words[1];
    }
  }

  function onTypeChange(event) {
    const kind = typeSelect.value;
    partial.hidden = kind !== "multiple";
    if (kind === "true_false") {
      fillTrueFalse(Boolean(event));
      showRows(Math.max(2, lastUsed() + 1));
    } else {
      // Most questions have four options: show four rows, more on request.
      showRows(Math.max(4, lastUsed() + 1));
    }
  }

  addButton.addEventListener("click", () => {
    const next = rows.find((row) => row.hidden);
    if (!next) return;
    next.hidden = false;
    text(next).focus();
    showRows(rows.filter((row) => !row.hidden).length);
  });

  rows.forEach((row) => {
    tick(row).addEventListener("change", (event) => {
      if (!event.target.checked || typeSelect.value === "multiple") return;
      rows.forEach((other) => { if (other !== row) tick(other).checked = false; });
    });
  });

  typeSelect.addEventListener("change", onTypeChange);
  languageSelect.addEventListener("change", () => { if (typeSelect.value === "true_false") fillTrueFalse(true); });
  onTypeChange();
})();
