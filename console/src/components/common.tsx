/** Small building blocks every view uses: loading state, inline API errors, dialogs, toasts. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from '../api';

export interface Async<T> {
  value: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` now and whenever `deps` change or `reload()` is called. An answer that arrives
 * after a newer request started is dropped, so a slow old query never overwrites a new one.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ value: T | undefined; error: unknown; loading: boolean }>({
    value: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal).then(
      (value) => !controller.signal.aborted && setState({ value, error: undefined, loading: false }),
      (error: unknown) => !controller.signal.aborted && setState((s) => ({ value: s.value, error, loading: false })),
    );
    return () => controller.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The API's error as it gave it: name, description and debug text. */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div class="error" role="alert" data-testid="error">
      {describeError(error)}
    </div>
  );
}

export function Modal({
  title,
  onClose,
  children,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const dialog = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const key = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    addEventListener('keydown', key);
    dialog.current?.querySelector<HTMLElement>('textarea, input, button')?.focus();
    return () => removeEventListener('keydown', key);
  }, [onClose]);
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class={`modal${wide ? ' wide' : ''}`} role="dialog" aria-modal="true" aria-label={title} ref={dialog}>
        <header>
          <h2>{title}</h2>
          <button class="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

type Toast = { id: number; text: string; kind: 'ok' | 'error' };
let pushToast: ((text: string, kind?: Toast['kind']) => void) | null = null;

/** Shows a short message at the bottom of the page. */
export function toast(text: string, kind: Toast['kind'] = 'ok'): void {
  pushToast?.(text, kind);
}

export function Toasts() {
  const [toasts, setToasts] = useState<Toast[]>([]);
  useEffect(() => {
    let next = 0;
    pushToast = (text, kind = 'ok') => {
      const id = ++next;
      setToasts((list) => [...list.slice(-4), { id, text, kind }]);
      setTimeout(() => setToasts((list) => list.filter((t) => t.id !== id)), kind === 'error' ? 8000 : 3500);
    };
    return () => {
      pushToast = null;
    };
  }, []);
  return (
    <div class="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

/** Previous / next over a skip+limit list, with the total when known. */
export function Pager({
  skip,
  limit,
  total,
  shown,
  onSkip,
}: {
  skip: number;
  limit: number;
  total: number | null;
  shown: number;
  onSkip: (skip: number) => void;
}) {
  const last = total === null ? skip + shown : Math.min(total, skip + shown);
  return (
    <div class="pager">
      <button disabled={skip === 0} onClick={() => onSkip(Math.max(0, skip - limit))}>
        ‹ Previous
      </button>
      <span data-testid="page-range">
        {shown === 0 ? 'none' : `${skip + 1}–${last}`}
        {total === null ? '' : ` of ${total}`}
      </span>
      <button disabled={total === null ? shown < limit : skip + limit >= total} onClick={() => onSkip(skip + limit)}>
        Next ›
      </button>
    </div>
  );
}

export function formatBytes(size: unknown): string {
  if (typeof size !== 'number' || !Number.isFinite(size)) return '—';
  if (size < 1024) return `${size} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDate(value: unknown): string {
  if (typeof value !== 'string') return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}
