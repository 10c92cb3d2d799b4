import { useCallback, useEffect, useState } from "react";

export type Navigate = (to: string) => void;

/** The page's address, kept in step with the history: links move without reloading. */
export function useAddress(): [URL, Navigate] {
  const [url, setUrl] = useState(() => new URL(window.location.href));
  useEffect(() => {
    const onPop = () => setUrl(new URL(window.location.href));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    window.history.pushState(null, "", to);
    setUrl(new URL(window.location.href));
    window.scrollTo(0, 0);
  }, []);
  return [url, navigate];
}
