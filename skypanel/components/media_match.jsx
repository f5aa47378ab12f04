// Renders its children only while a CSS media query matches, so a page builds one layout
// (the table on wide screens, the list on phones) instead of both with one hidden by CSS.
// Before the browser has measured (prerendered HTML), nothing is rendered.
import { useSyncExternalStore } from "react";

function subscribe(query, onChange) {
  const list = window.matchMedia(query);
  list.addEventListener("change", onChange);
  return () => list.removeEventListener("change", onChange);
}

export function MediaMatch({ query, children }) {
  const matches = useSyncExternalStore(
    (onChange) => subscribe(query, onChange),
    () => window.matchMedia(query).matches,
    () => false,
  );
  return matches ? children : null;
}
