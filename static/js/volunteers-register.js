// Volunteer registration and profile: show only the guardian questions that apply to the age entered, and
// narrow the school list to the chosen region. Without this script every question shows and the server decides.
(function () {
  "use strict";

  function ageOn(birth, today) {
    var age = today.getFullYear() - birth.getFullYear();
    var m = today.getMonth() - birth.getMonth();
    if (m < 0 || (m === 0 && today.getDate() < birth.getDate())) age -= 1;
    return age;
  }

  function parseDate(value) {
    var match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    return match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : null;
  }

  function setupGuardian(form) {
    var part = form.querySelector("[data-guardian]");
    var birthInput = form.querySelector("input[name=birth_date]");
    if (!part || !birthInput) return;
    var today = parseDate(form.getAttribute("data-today")) || new Date();
    var child = part.querySelector("[data-band=child]");
    var teen = part.querySelector("[data-band=teen]");
    function hasErrors(band) { return band && band.querySelector(".field-invalid"); }
    function update() {
      var birth = parseDate(birthInput.value);
      if (!birth) {
        part.hidden = false; child.hidden = false; teen.hidden = false;
        return;
      }
      var age = ageOn(birth, today);
      child.hidden = !(age < 14) && !hasErrors(child);
      teen.hidden = !(age >= 14 && age < 18) && !hasErrors(teen);
      part.hidden = child.hidden && teen.hidden;
    }
    birthInput.addEventListener("change", update);
    birthInput.addEventListener("input", update);
    update();
  }

  function setupSchools(form) {
    var region = form.querySelector("select[name=region]");
    var school = form.querySelector("select[name=school]");
    if (!region || !school) return;
    function update() {
      var chosen = region.value;
      Array.prototype.forEach.call(school.querySelectorAll("optgroup"), function (group) {
        var any = false;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          var show = !chosen || option.getAttribute("data-region") === chosen || option.selected;
          option.hidden = !show;
          option.disabled = !show;
          any = any || show;
        });
        group.hidden = !any;
      });
    }
    region.addEventListener("change", update);
    update();
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.register-form"), function (form) {
    setupGuardian(form);
    setupSchools(form);
  });
})();
