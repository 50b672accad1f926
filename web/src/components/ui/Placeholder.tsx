// Placeholder: marks a page that is not built yet (replace the page, then delete this).
import { Card } from './Card';

export function Placeholder({ what }: { what: string }) {
  return (
    <Card>
      <p className="muted">{what} — coming soon.</p>
    </Card>
  );
}
