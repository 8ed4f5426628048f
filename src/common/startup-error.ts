/**
 * A start-up failure the operator can fix (a port in use, an unreadable signing key, a locked data directory,
 * an unreachable database): its message is one line that says what is wrong and what to do. The process
 * prints it once, on stderr, and exits 1 (README, Configuration); anything else is a bug and keeps its stack.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    // One line, whatever a cause's message contributed.
    super(message.replace(/\s*\n\s*/g, ' '), options);
    this.name = 'StartupError';
  }
}
