"""Language detection stage: langdetect 1.0.9's labels, accelerated by langdetect-rs.

Pure core: `detector` (LanguageDetector, LanguageConfig), `backends`, `labeling`
(article <-> detector), `codes` (the label set, --languages parsing).
Beam: `transform` (DetectLanguage, KeepLanguages).
"""
