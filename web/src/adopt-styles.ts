/**
 * xterm.js writes each terminal's CSS (cell sizes, colours) into a <style> element it creates, and the page's
 * Content-Security-Policy (`style-src 'self'`, no inline styles) rightly keeps the browser from applying it. This
 * copies the text of every such element into a constructable stylesheet (CSSOM, which the policy allows) and
 * follows its changes, so the terminals render while the policy stays strict.
 */
export function adoptInlineStyles(root: Node): void {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();
  const sync = (el: HTMLStyleElement): void => {
    let sheet = sheets.get(el);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheets.set(el, sheet);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
    sheet.replaceSync(el.textContent ?? '');
  };
  const drop = (el: HTMLStyleElement): void => {
    const sheet = sheets.get(el);
    if (!sheet) return;
    sheets.delete(el);
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
  const each = (node: Node, fn: (el: HTMLStyleElement) => void): void => {
    if (node instanceof HTMLStyleElement) fn(node);
    else if (node instanceof Element) node.querySelectorAll('style').forEach(fn);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      r.addedNodes.forEach((n) => each(n, sync));
      r.removedNodes.forEach((n) => each(n, (el) => (el.isConnected ? undefined : drop(el))));
      const owner = r.target instanceof HTMLStyleElement ? r.target : r.target.parentNode instanceof HTMLStyleElement ? r.target.parentNode : null;
      if (owner?.isConnected) sync(owner);
    }
  }).observe(root, { childList: true, subtree: true, characterData: true });
}
