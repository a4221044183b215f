// A confirmation dialog for destructive actions: the user types the name
// of the resource before the action button is enabled.

import {h, field} from "./dom.js";

/**
 * confirmName opens a modal dialog and resolves to the values of its
 * fields ({id: value}) when the user typed name and confirmed, or null
 * when they cancelled. fields: [{id, label, placeholder, hint}].
 */
export function confirmName({title, text, name, action, fields = [], danger = true}) {
  return new Promise((resolve) => {
    const inputs = fields.map((f) => h("input", {id: f.id, type: "text", placeholder: f.placeholder || "", spellcheck: "false"}));
    const typed = h("input#confirm-input", {type: "text", autocomplete: "off", spellcheck: "false", "aria-label": "Type the name to confirm"});
    const ok = h("button#confirm-ok" + (danger ? ".danger" : ".primary"), {type: "button", disabled: true}, action);
    const cancel = h("button#confirm-cancel", {type: "button"}, "Cancel");
    const dialog = h("dialog.confirm", {"aria-label": title},
      h("h2", null, title),
      h("p", null, text),
      fields.map((f, i) => field(f.label, inputs[i], f.hint)),
      field(["Type ", h("code", null, name), " to confirm"], typed),
      h("div.buttons", null, cancel, ok));
    let result = null;
    typed.addEventListener("input", () => (ok.disabled = typed.value !== name));
    typed.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !ok.disabled) ok.click();
    });
    ok.addEventListener("click", () => {
      result = Object.fromEntries(fields.map((f, i) => [f.id, inputs[i].value.trim()]));
      dialog.close();
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    typed.focus();
  });
}
