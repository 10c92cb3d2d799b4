/** What just happened (a banner) and what went wrong (an alert), as every page shows them. */
export function Messages({ message, error }: { message?: string | null; error?: string | null }) {
  return (
    <>
      {message && (
        <p className="banner" role="status">
          {message}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}
