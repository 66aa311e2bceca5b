/**
 * setupFilesAfterEnv for every suite: when the file's tests end, every temp dir made through
 * test/support/temp-dirs.ts (service-account keys, credential files, scratch dirs) is removed, and
 * the suite fails if one survives.
 */
import { removeAllTempDirs } from './temp-dirs';

afterAll(() => {
  expect(removeAllTempDirs()).toEqual([]);
});
