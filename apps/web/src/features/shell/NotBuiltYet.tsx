import { sectionAt } from "./sections";

export function NotBuiltYet({ href }: { href: string }) {
  const section = sectionAt(href);
  return (
    <section aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title">{section.title}</h1>
        <p className="muted">{section.summary}</p>
      </header>
      <div className="notice" role="status">
        This section is not built yet. Nothing is shown here until it is.
      </div>
    </section>
  );
}
