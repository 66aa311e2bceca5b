import { newEntityId } from '../../src/domain/appdata/entity-fields';

describe('server-generated ids', () => {
  test('are 24 lowercase hex characters laid out like an ObjectId: seconds, process, counter', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const id = newEntityId(now);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(parseInt(id.slice(0, 8), 16)).toBe(now.getTime() / 1000);
    expect(newEntityId(now).slice(8, 18)).toBe(id.slice(8, 18));
  });

  test('ids created in the same second sort in creation order (they were random within a second)', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const ids = Array.from({ length: 1000 }, () => newEntityId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('a later second sorts after an earlier one', () => {
    expect(newEntityId(new Date('2026-12-01T12:00:01Z')) > newEntityId(new Date('2026-12-01T12:00:00Z'))).toBe(true);
  });
});
