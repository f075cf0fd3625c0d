import type { RequestDetail } from '../api.js';
import { fmtTime } from '../format.js';

/** The part of a request this section reads. */
export type WithRatings = Pick<RequestDetail, 'score_details'>;

/**
 * End users' ratings (feedback from the app's own pages, docs/feedback.md), kept apart from the
 * reviewers' scores: per name, how many end users rated and their mean (for thumbs, the share of
 * thumbs up), then each end user's current rating. Nothing is shown when there are none.
 */
export function EndUserRatings({ request }: { request: WithRatings }) {
  const names = Object.entries(request.score_details ?? {})
    .map(([name, d]) => ({ name, ratings: (d.ratings ?? []).filter((r) => r.source === 'end_user') }))
    .filter((n) => n.ratings.length > 0);
  if (names.length === 0) return null;
  return (
    <section className="history end-user-ratings" aria-label="End users' ratings">
      <h2>End users' ratings</h2>
      {names.map(({ name, ratings }) => {
        const mean = ratings.reduce((sum, r) => sum + r.value, 0) / ratings.length;
        return (
          <div key={name} className="end-user-name">
            <p>
              <span className="score-name">{name}</span>{' '}
              <span className="muted">
                {ratings.length} {ratings.length === 1 ? 'end user' : 'end users'}, mean {Number.isInteger(mean) ? mean : mean.toFixed(1)}
              </span>
            </p>
            <table>
              <tbody>
                {ratings.map((r) => (
                  <tr key={r.rater}>
                    <td className="nowrap">{fmtTime(r.at)}</td>
                    <td className="who">{r.rater.slice('end_user:'.length)}</td>
                    <td>
                      {r.label ?? r.value}
                      {r.comment ? <div className="muted">{r.comment}</div> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      })}
    </section>
  );
}
