export const CLI_BUNDLE: string;
export function cliBundleInputs(bundle: string): string;
export function freshCliBundle(): string | null;
