// The one place the vendored modules are imported from: every other module imports from here.
// The vendored files import each other by relative paths (ui/vendor/refresh.sh rewrites their
// bare specifiers), so the page needs no import map, which would be an inline script.
import { h, render, Fragment } from '/ui/vendor/preact@10.29.8/preact.module.js';
import htm from '/ui/vendor/htm@3.1.1/htm.module.js';

export { h, render, Fragment };
export {
  useState, useEffect, useRef, useMemo, useCallback, useLayoutEffect,
} from '/ui/vendor/preact@10.29.8/hooks.module.js';
export { signal, computed, effect, batch } from '/ui/vendor/signals@2.11.4/signals.module.js';

// htm builds Preact elements from tagged templates. Interpolated values are children or
// attribute values, never parsed as markup: text from the log always ends up as text nodes.
export const html = htm.bind(h);
