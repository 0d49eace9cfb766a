-- Full-text search: GIN indexes over expressions, so that no text is stored
-- twice (the tables hold it already).
--
-- Text is folded before the 'simple' configuration sees it: accents off
-- (unaccent, when the server has it), lower case, and every run of
-- characters that is not a letter or digit turned into one space. The
-- default parser would otherwise keep "anna@example.com", "ext-carla" or
-- "/path/to" as tokens of their own that a typed "anna" or "carla" never
-- matches; folded, a word is exactly a run of letters and digits, as in the
-- embedded engine's unicode61 tokenizer.
--
-- unaccent is a trusted extension (PostgreSQL 13+): a database owner may
-- create it. It goes into public where allowed, so that it outlives any
-- schema webcare is installed in (dropping that schema would otherwise take
-- the extension, and the search functions of every other schema using it,
-- along). Where it is refused, search still ignores case but not accents,
-- and a notice says so. The lock makes instances migrating different
-- schemas at once create it one after the other.
DO $$
DECLARE
    ns text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('webcare.unaccent'));
    BEGIN
        CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS unaccent;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'webcare: unaccent is not available (%); search will not ignore accents', SQLERRM;
        END;
    END;
    SELECT n.nspname INTO ns FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
    IF ns IS NULL THEN
        CREATE FUNCTION webcare_fold(t text) RETURNS text
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN regexp_replace(lower(t), '[^[:alnum:]]+', ' ', 'g');
    ELSE
        -- unaccent() is only STABLE (its rules file could change); the
        -- two-argument form with a fixed dictionary is safe to index.
        EXECUTE format($f$
            CREATE FUNCTION webcare_fold(t text) RETURNS text
                LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
                RETURN regexp_replace(lower(%1$I.unaccent(%2$L::regdictionary, t)), '[^[:alnum:]]+', ' ', 'g')
        $f$, ns, quote_ident(ns) || '.unaccent');
    END IF;
END
$$;

-- webcare_tsquery turns typed text into a query that cannot fail to parse:
-- the folded words, each quoted, all required, the last one as a prefix so
-- that results follow the typing. Text without a letter or digit gives NULL,
-- which matches nothing.
CREATE FUNCTION webcare_tsquery(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT to_tsquery('simple', string_agg(quote_literal(w) || CASE WHEN n = c THEN ':*' ELSE '' END, ' & ' ORDER BY n))
    FROM (SELECT w, n, count(*) OVER () AS c
          FROM unnest(regexp_split_to_array(btrim(webcare_fold(q)), ' +')) WITH ORDINALITY AS x (w, n)
          WHERE w <> '') AS words;
END;

CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', webcare_fold(body)));
CREATE INDEX contacts_search ON contacts USING gin (to_tsvector('simple', webcare_fold(name)));
CREATE INDEX identities_search ON identities USING gin
    (to_tsvector('simple', webcare_fold(handle || ' ' || display_name || ' ' || external_id)));
