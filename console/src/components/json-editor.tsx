/** Editing one JSON object as text: the code textarea (Ctrl+S saves) and its parse and format steps. */
import { useEffect, useRef } from 'preact/hooks';

export type Parsed = { value: Record<string, unknown>; problem?: undefined } | { value?: undefined; problem: string };

/** `text` as a JSON object, or the problem to show: not JSON, or JSON but not an object (`what` names it). */
export function parseJsonObject(text: string, what: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { problem: `Not valid JSON: ${(e as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { problem: `${what} must be a JSON object.` };
  return { value: value as Record<string, unknown> };
}

/** `text` re-indented by two spaces, or the parse problem. */
export function formatJson(
  text: string,
): { text: string; problem?: undefined } | { text?: undefined; problem: string } {
  try {
    return { text: JSON.stringify(JSON.parse(text), null, 2) };
  } catch (e) {
    return { problem: `Not valid JSON: ${(e as Error).message}` };
  }
}

export function JsonTextarea({
  label,
  testId,
  value,
  onChange,
  onSave,
  autoFocus,
}: {
  label: string;
  testId?: string;
  value: string;
  onChange: (text: string) => void;
  onSave: () => void;
  /** Focus on mount (a dialog focuses its first control only when it opens). */
  autoFocus?: boolean;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (autoFocus) area.current?.focus();
  }, []);
  return (
    <textarea
      class="code"
      aria-label={label}
      data-testid={testId}
      spellcheck={false}
      value={value}
      ref={area}
      onInput={(e) => onChange(e.currentTarget.value)}
      onKeyDown={(e) => {
        if (e.key === 's' && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          onSave();
        }
      }}
    />
  );
}
