// Keyboard shortcuts as an owner writes them: `mod+k` (Ctrl+K, or Cmd+K on a Mac), `ctrl+/`,
// `alt+shift+a`; `none` (or nothing) turns the shortcut off.

const MODIFIERS = ['ctrl', 'alt', 'shift', 'meta'];

function onMac() {
  const nav = globalThis.navigator;
  const platform = nav?.userAgentData?.platform || nav?.platform || '';
  return /mac|iphone|ipad/i.test(platform);
}

/** @returns {null | {key: string, ctrl: boolean, alt: boolean, shift: boolean, meta: boolean}} */
export function parseShortcut(text, mac = onMac()) {
  const parts = String(text || '').toLowerCase().split('+').map((part) => part.trim()).filter(Boolean);
  if (!parts.length || (parts.length === 1 && parts[0] === 'none')) return null;
  const key = parts.pop();
  const shortcut = { key, ctrl: false, alt: false, shift: false, meta: false };
  for (const part of parts) {
    const name = part === 'mod' ? (mac ? 'meta' : 'ctrl') : part === 'cmd' ? 'meta' : part === 'control' ? 'ctrl' : part;
    if (!MODIFIERS.includes(name)) return null;
    shortcut[name] = true;
  }
  return shortcut;
}

/** True when a keydown event is the shortcut, modifiers exactly as written. */
export function matchesShortcut(event, shortcut) {
  return (
    String(event.key).toLowerCase() === shortcut.key &&
    event.ctrlKey === shortcut.ctrl &&
    event.altKey === shortcut.alt &&
    event.shiftKey === shortcut.shift &&
    event.metaKey === shortcut.meta
  );
}
