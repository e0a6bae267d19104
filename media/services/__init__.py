"""Media use cases: start imports (upload, archive, registration, resumable uploads), run
them in workers, and finish video processing. Views and actors call these."""
