// Types of setup-layouts-python.mjs, for the layout tests that call it.
export function setupLayoutsPython(name?: string): string;
export function systemPython(): string | null;
