/*
 * "Entra con SPID": keyboard and ARIA behaviour on top of the <details>
 * disclosure of login.html, which opens and closes without this script.
 * Keeps aria-expanded on the trigger equal to the menu state, closes on
 * Escape (focus back on the trigger) and on a click elsewhere, and moves
 * between the entries with the arrow keys.
 */
(function () {
    "use strict";
    var box = document.getElementById("spid-access");
    var trigger = document.getElementById("spid-idp-trigger");
    if (!box || !trigger || box.tagName !== "DETAILS") {
        return;
    }

    function links() {
        return Array.prototype.slice.call(box.querySelectorAll(".spid-idp-button-menu a"));
    }

    function sync() {
        trigger.setAttribute("aria-expanded", box.open ? "true" : "false");
        trigger.classList.toggle("spid-idp-button-open", box.open);
    }

    function close(focusTrigger) {
        if (box.open) {
            box.open = false;
            sync();
        }
        if (focusTrigger) {
            trigger.focus();
        }
    }

    function move(delta) {
        var all = links();
        var i = all.indexOf(document.activeElement);
        if (all.length === 0) {
            return;
        }
        i = i < 0 ? (delta > 0 ? 0 : all.length - 1) : (i + delta + all.length) % all.length;
        all[i].focus();
    }

    /* the open attribute changes first; "toggle" comes a task later, so
       watch the attribute itself to keep aria-expanded never behind */
    if (window.MutationObserver) {
        new MutationObserver(sync).observe(box, { attributes: true, attributeFilter: ["open"] });
    }
    box.addEventListener("toggle", sync);
    box.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && box.open) {
            ev.preventDefault();
            close(true);
        } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
            ev.preventDefault();
            if (!box.open) {
                box.open = true;
                sync();
            }
            move(ev.key === "ArrowDown" ? 1 : -1);
        }
    });
    document.addEventListener("click", function (ev) {
        if (box.open && !box.contains(ev.target)) {
            close(false);
        }
    });
    sync();
})();
