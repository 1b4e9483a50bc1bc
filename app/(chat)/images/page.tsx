import { ImageLibrary } from "@/app/_components/image-library";

// GET /images – the user's images: newest first, search by content, more like this, zero-shot labels
export default function ImagesPage() {
  return (
    <main id="content" tabIndex={-1} className="chat images-page">
      <header className="chat-header">
        <h1 className="settings-title">Images</h1>
      </header>
      <ImageLibrary />
    </main>
  );
}
