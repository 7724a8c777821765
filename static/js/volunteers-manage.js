// Small helpers of the organisers' volunteer pages: "select all" on the hour queue and the print button of the
// sign-in sheet. Both controls are hidden in the HTML and shown here, so without JavaScript nothing is broken.
(function () {
  "use strict";
  const selectAll = document.querySelector("[data-select-all]");
  const bulk = document.querySelector("[data-bulk]");
  if (selectAll && bulk) {
    const box = selectAll.querySelector("input");
    const boxes = () => Array.from(document.querySelectorAll(`input[type=checkbox][name=records][form="${bulk.id}"]`));
    selectAll.hidden = false;
    box.addEventListener("change", () => {
      boxes().forEach((item) => { item.checked = box.checked; });
    });
    document.addEventListener("change", (event) => {
      if (event.target.name !== "records") return;
      const all = boxes();
      box.checked = all.length > 0 && all.every((item) => item.checked);
      box.indeterminate = !box.checked && all.some((item) => item.checked);
    });
  }
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });
})();
