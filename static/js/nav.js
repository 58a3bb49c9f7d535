// The phone menu: a disclosure button for the main navigation (templates/base.html).
// Without this script the button stays hidden and the links stay visible (they wrap), so
// nothing depends on it. Styles: static/css/header.css.
(function () {
  "use strict";

  function setUp() {
    var header = document.querySelector("[data-site-header]");
    var button = header && header.querySelector("[data-nav-toggle]");
    var nav = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!nav) {
      return;
    }
    var phone = window.matchMedia("(max-width: 40rem)");

    function isOpen() {
      return button.getAttribute("aria-expanded") === "true";
    }

    function setOpen(open, returnFocus) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("is-open", open);
      if (!open && returnFocus) {
        button.focus();
      }
    }

    header.classList.add("site-header--menu");
    button.addEventListener("click", function () {
      setOpen(!isOpen(), false);
    });
    // Escape closes the menu from anywhere in it and gives the focus back to the button.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) {
        setOpen(false, true);
      }
    });
    // A click or a focus outside the header closes it, as a menu should.
    document.addEventListener("click", function (event) {
      if (isOpen() && !header.contains(event.target)) {
        setOpen(false, false);
      }
    });
    document.addEventListener("focusin", function (event) {
      if (isOpen() && !header.contains(event.target)) {
        setOpen(false, false);
      }
    });
    // Back on a wide screen the links show inline: forget the open state.
    phone.addEventListener("change", function () {
      setOpen(false, false);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
