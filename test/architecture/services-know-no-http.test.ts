import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Issue 12: the services know no HTTP. Only the HTTP surface (the app, its middleware and routes,
 * the admin page routes, the API description and the reverse proxy) may import from src/http/;
 * everything else throws DomainError and leaves statuses and envelopes to src/http/domain-error-response.ts.
 */
const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const HTTP_SURFACE = ['http', 'routes', 'admin', 'openapi', 'proxy', 'app.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module a file names: `import … from`, `export … from`, `import '…'` and `import('…')`. */
function importedModules(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\1/g;
  return [...text.matchAll(pattern)].map((match) => match[2]!);
}

function httpImports(file: string): string[] {
  const httpDir = path.join(src, 'http') + path.sep;
  return importedModules(file).filter((specifier) => specifier.startsWith('.') && path.resolve(path.dirname(file), specifier).startsWith(httpDir));
}

describe('layering', () => {
  it('finds the imports it looks for (the HTTP surface does import src/http/)', () => {
    expect(httpImports(path.join(src, 'app.ts'))).toContain('./http/errors.js');
    expect(httpImports(path.join(src, 'routes/users/users-routes.ts')).length).toBeGreaterThan(0);
  });

  it('no module outside the HTTP surface imports from src/http/', () => {
    const services = sourceFiles(src).filter((file) => !HTTP_SURFACE.includes(path.relative(src, file).split(path.sep)[0]!));
    expect(services.map((file) => path.relative(src, file))).toEqual(
      expect.arrayContaining(['certificates/certificate-service.ts', 'users/user-service.ts', 'db/storage-health.ts', 'cli/command-line.ts']),
    );
    const offenders = services.flatMap((file) => httpImports(file).map((specifier) => `${path.relative(src, file)} imports ${specifier}`));
    expect(offenders).toEqual([]);
  });
});
