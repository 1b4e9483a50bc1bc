/** The two files of a tiny random-weight replica of one family's GGUF layout. */
export interface ReplicaFiles {
  /** The language model. */
  llm: string;
  /** Its vision projector. */
  mmproj: string;
}
