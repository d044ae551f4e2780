-- ossbox metadata, version 6: bucket configurations (tagging, CORS, referer, website, logging, CNAME), one row
-- per bucket and configuration. `document` is the configuration in the form its module stores it (the XML a
-- Get call answers, or JSON for CNAME bindings); rows go with their bucket.
CREATE TABLE bucket_configs (
    bucket   TEXT NOT NULL,
    name     TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID;
CREATE INDEX bucket_configs_by_name ON bucket_configs (name);
