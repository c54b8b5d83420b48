// Loaded with `node --import` before typedoc (see the `docs` script in package.json).
// The project compiles with TypeScript 7, whose npm package has no compiler JS API;
// typedoc needs that API (TypeScript 5.x), installed here under the alias `typescript5`.
// This hook makes `import ... from 'typescript'` inside typedoc load `typescript5`.
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  if (specifier === 'typescript' && context.parentURL && context.parentURL.includes('/node_modules/typedoc/')) {
    return next('typescript5', context);
  }
  return next(specifier, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);
