// "Copy" buttons next to secrets shown once.
export function initCopyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.querySelector(button.dataset.copy);
      if (!input) return;
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch {
        document.execCommand("copy"); // older browsers, or clipboard permission refused
      }
      const text = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = text), 1500);
    });
  }
  for (const input of document.querySelectorAll("[data-secret-value]")) {
    input.addEventListener("focus", () => input.select());
  }
}
