// Which image the testcontainers provider starts, from --postgres-image and --postgres-version (no engine needed).
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { DEFAULT_MAJOR, imageFor, majorOfImageTag } from '../../src/postgres/testcontainers.js';

describe('testcontainers image', () => {
  it('defaults to the current major, alpine variant, or the asked major', () => {
    expect(imageFor({})).toBe(`postgres:${DEFAULT_MAJOR}-alpine`);
    expect(DEFAULT_MAJOR).toBe(18);
    expect(imageFor({ postgresVersion: 13 })).toBe('postgres:13-alpine');
  });

  it('uses the given image, and refuses a tag that contradicts --postgres-version', () => {
    expect(imageFor({ postgresImage: 'postgis/postgis:17-3.5', postgresVersion: 17 })).toBe('postgis/postgis:17-3.5');
    expect(imageFor({ postgresImage: 'registry.local:5000/pg:latest', postgresVersion: 16 })).toBe('registry.local:5000/pg:latest');
    expect(() => imageFor({ postgresImage: 'postgres:16-alpine', postgresVersion: 17 })).toThrow(UserError);
  });

  it('reads the major of a tag', () => {
    expect(majorOfImageTag('postgres:16')).toBe(16);
    expect(majorOfImageTag('postgres:16.4-alpine')).toBe(16);
    expect(majorOfImageTag('ghcr.io/x/postgis:17-3.5')).toBe(17);
    expect(majorOfImageTag('registry.local:5000/postgres')).toBeUndefined();
    expect(majorOfImageTag('postgres:latest')).toBeUndefined();
    expect(majorOfImageTag('pgvector/pgvector:pg17')).toBeUndefined();
  });
});
