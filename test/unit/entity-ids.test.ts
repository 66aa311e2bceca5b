import { newEntityId } from '../../src/domain/appdata/entity-fields';

describe('server-generated ids', () => {
  test('are 24 lowercase hex characters laid out like an ObjectId: seconds, microseconds, process, counter', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const id = newEntityId(now);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(parseInt(id.slice(0, 8), 16)).toBe(now.getTime() / 1000);
    expect(newEntityId(now).slice(8, 18)).toBe(id.slice(8, 18));
    expect(newEntityId(new Date('2026-12-01T12:00:00.250Z')).slice(8, 14)).toBe(
      (250_000).toString(16).padStart(6, '0'),
    );
  });

  test('ids created in the same second sort in creation order (they were random within a second)', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const ids = Array.from({ length: 1000 }, () => newEntityId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('the time comes before the process part, to the microsecond: ids of several worker processes sort by creation', () => {
    const early = newEntityId(new Date('2026-12-01T12:00:00.250Z'));
    const late = newEntityId(new Date('2026-12-01T12:00:00.251Z'));
    // Another process differs only in the bytes after the time: swap them in, the order holds.
    const otherProcess = `${late.slice(0, 14)}ffff${late.slice(18)}`;
    const thisProcessLater = `${early.slice(0, 14)}0000${early.slice(18)}`;
    expect(late > early && otherProcess > early && late > thisProcessLater).toBe(true);
  });

  test('a later second sorts after an earlier one', () => {
    expect(newEntityId(new Date('2026-12-01T12:00:01Z')) > newEntityId(new Date('2026-12-01T12:00:00Z'))).toBe(true);
  });
});
