"use client";

/** The sample image the empty chat offers (public/samples/shapes.png). */
export const SAMPLE_IMAGE = "/samples/shapes.png";
const EXAMPLES = ["What color is the circle?", "How many shapes are there?", "Is the square on the left or the right?"];

/** What a new chat shows before its first message: what the assistant does, the sample image and example questions. */
export function EmptyChat({ canSee, onSample, onExample }: { canSee: boolean; onSample: () => void; onExample: (question: string) => void }) {
  return (
    <div className="empty-state">
      <h1>What would you like to know about an image?</h1>
      <p>
        Drop, paste or attach images and ask about them. The assistant runs on this machine; nothing leaves it.
        The built-in demo model knows simple shapes: their colours, kinds, how many there are and where they are.
      </p>
      <button type="button" className="button" onClick={onSample} disabled={!canSee}>
        {/* eslint-disable-next-line @next/next/no-img-element */}
        <img src={SAMPLE_IMAGE} alt="" width={32} height={32} /> Try the sample image
      </button>
      <ul className="examples" aria-label="Example questions">
        {EXAMPLES.map((q) => (
          <li key={q}>
            <button type="button" className="example" onClick={() => onExample(q)}>
              {q}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
