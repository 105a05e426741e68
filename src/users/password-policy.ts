/** SPEC: 8–64 characters with a digit, an upper-case and a lower-case letter, and a special character. */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  if (password.length < 8 || password.length > 64) problems.push('be 8 to 64 characters long');
  if (!/[0-9]/.test(password)) problems.push('contain a digit');
  if (!/[A-Z]/.test(password)) problems.push('contain an upper-case letter');
  if (!/[a-z]/.test(password)) problems.push('contain a lower-case letter');
  if (!/[^A-Za-z0-9]/.test(password)) problems.push('contain a special character');
  return problems;
}

export function describePasswordProblems(problems: string[]): string {
  return `the password must ${problems.join(', ')}`;
}
