/** The MongoDB-style filter box: JSON checked here before it is sent; the server judges the rest. */
import { useState } from 'preact/hooks';

const EXAMPLE = '{"age": {"$gt": 30}}';

/** Parses a filter; returns the object, or the reason it is not one. */
export function parseFilter(text: string): { filter: Record<string, unknown> } | { problem: string } {
  if (!text.trim()) return { filter: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `The query is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { problem: 'The query must be a JSON object, such as {"name": "Ada"}.' };
  return { filter: value as Record<string, unknown> };
}

export function QueryBox({
  applied,
  onApply,
}: {
  applied: Record<string, unknown>;
  onApply: (filter: Record<string, unknown>) => void;
}) {
  const [text, setText] = useState(() => (Object.keys(applied).length ? JSON.stringify(applied) : ''));
  const [problem, setProblem] = useState<string | null>(null);

  const apply = (source = text) => {
    const parsed = parseFilter(source);
    if ('problem' in parsed) {
      setProblem(parsed.problem);
      return;
    }
    setProblem(null);
    onApply(parsed.filter);
  };
  const clear = () => {
    setText('');
    setProblem(null);
    onApply({});
  };

  return (
    <form
      class="query-box"
      onSubmit={(e) => {
        e.preventDefault();
        apply();
      }}
    >
      <label class="query-label">
        <span>Query</span>
        <textarea
          class="code query-input"
          data-testid="query-input"
          aria-label="Query (MongoDB filter as JSON)"
          placeholder={`${EXAMPLE}   (Enter runs it, Shift+Enter adds a line)`}
          rows={1}
          spellcheck={false}
          value={text}
          aria-invalid={problem ? true : undefined}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              apply(e.currentTarget.value);
            }
          }}
        />
      </label>
      <div class="row query-actions">
        <button type="submit" class="primary">
          Run
        </button>
        <button type="button" onClick={clear} disabled={!text && !Object.keys(applied).length}>
          Clear
        </button>
      </div>
      {problem && (
        <div class="error" role="alert" data-testid="query-error">
          {problem}
        </div>
      )}
    </form>
  );
}
