// The part of testcontainers a container start needs: bundled as its own file (dist/testcontainers.js), loaded on first use.
export { PostgreSqlContainer } from '@testcontainers/postgresql';
export { getContainerRuntimeClient } from 'testcontainers';
