/* Greenlight console: the promote dialog, live operation progress (Server-Sent Events), and
   refreshing the page's sections when an operation lands. No build step, no dependencies. */
(function () {
  "use strict";

  var opener = null;

  function promoteDialog() {
    return document.getElementById("promote-dialog");
  }

  function openPromote(button) {
    var dialog = promoteDialog();
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    var form = dialog.querySelector("form");
    form.reset();
    form.removeAttribute("data-submitted");
    form.setAttribute("action", button.getAttribute("data-action"));
    var label = "v" + button.getAttribute("data-promote");
    dialog.querySelectorAll("[data-version-label]").forEach(function (node) {
      node.textContent = "version " + label;
    });
    var confirm = dialog.querySelector("[data-confirm]");
    if (confirm) {
      confirm.textContent = "Promote " + label;
    }
    opener = button;
    dialog.showModal();
    var notes = dialog.querySelector("textarea");
    if (notes) {
      notes.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    var promote = target.closest("[data-promote]");
    if (promote) {
      event.preventDefault();
      openPromote(promote);
      return;
    }
    var close = target.closest("[data-dialog-close]");
    if (close) {
      var owner = close.closest("dialog");
      if (owner) {
        owner.close();
      }
      return;
    }
    // A click on the backdrop (the dialog element itself, outside its form) cancels.
    if (target instanceof HTMLDialogElement && target.open) {
      var box = target.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) {
        target.close();
      }
    }
  });

  // Focus goes back to the button that opened the dialog ("close" does not bubble: capture it).
  document.addEventListener("close", function (event) {
    if (event.target === promoteDialog() && opener && document.contains(opener)) {
      opener.focus();
    }
  }, true);

  // One submission per form: a double click must not send it twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") {
      return;
    }
    if (form.hasAttribute("data-submitted")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitted", "");
    form.setAttribute("aria-busy", "true");
  });

  // Back to a page from the history cache: its forms can be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      form.removeAttribute("data-submitted");
      form.removeAttribute("aria-busy");
    });
  });

  // --- live progress of an operation ---------------------------------------------------------

  function setText(section, name, text) {
    var node = section.querySelector('[data-op="' + name + '"]');
    if (node) {
      node.textContent = text || "";
      node.hidden = !text;
    }
  }

  function update(section, view) {
    section.className = "operation operation-" + view.status;
    section.setAttribute("data-terminal", view.terminal ? "true" : "false");
    setText(section, "title", view.title);
    setText(section, "status_label", view.status_label);
    setText(section, "message", view.message);
    setText(section, "hint", view.hint);
    var done = section.querySelector(".step-done");
    if (done) {
      done.textContent = view.status === "failed" ? "Failed" : "Done";
    }
    var fields = section.querySelector('[data-op="fields"]');
    if (fields) {
      var list = fields.querySelector("ul");
      list.textContent = "";
      (view.fields || []).forEach(function (name) {
        var item = document.createElement("li");
        item.textContent = name;
        list.appendChild(item);
      });
      fields.hidden = !(view.fields && view.fields.length);
    }
  }

  // Replace every [data-refresh] section with its fresh rendering (same id) from the server.
  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-refresh]").forEach(function (node) {
          var replacement = node.id ? fresh.getElementById(node.id) : null;
          if (replacement && !(node instanceof HTMLDialogElement && node.open)) {
            node.replaceWith(document.importNode(replacement, true));
          }
        });
      })
      .catch(function () {
        /* the page stays as it is; a reload shows the outcome */
      })
      .then(settled);
  }

  // The page shows the operation's outcome and every section as it left them.
  function settled() {
    document.body.setAttribute("data-settled", "");
  }

  function watch(section) {
    if (section.getAttribute("data-terminal") === "true") {
      settled(); // it had finished before the page was rendered
      return;
    }
    if (typeof window.EventSource !== "function") {
      return;
    }
    var source = new EventSource(section.getAttribute("data-operation-events"));
    source.addEventListener("progress", function (event) {
      var view = JSON.parse(event.data);
      update(section, view);
      if (view.terminal) {
        source.close();
        refresh();
      }
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  function start() {
    var section = document.getElementById("operation");
    if (section) {
      watch(section);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
