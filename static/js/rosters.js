// Claim slips: the print button (a plain link would need inline script, which the site avoids).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});

// A table's "tick all" box: ticks or unticks every box of the same name in its form.
document.querySelectorAll("[data-check-all]").forEach((master) => {
  const boxes = () => master.form.querySelectorAll(`input[type=checkbox][name="${master.dataset.checkAll}"]`);
  master.hidden = false;
  master.addEventListener("change", () => {
    boxes().forEach((box) => { box.checked = master.checked; });
  });
});
