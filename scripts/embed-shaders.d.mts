/** Types for scripts/embed-shaders.mjs. */
export function renderShaderModule(): string;
