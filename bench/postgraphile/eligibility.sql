-- The eligibility lookup as PostGraphile serves it (bench/province.py): a schema of its own,
-- made by the benchmark on its throwaway database and dropped after; never one of the gateway's
-- migrations. One answer per asked ID number, in the order asked, with the gateway's semantics
-- (gateway/eligibility/lookup.py): unknown -> found false, NONE, UNKNOWN; deceased -> DECEASED;
-- no current household -> NO_HOUSEHOLD; otherwise the household's status, and its category
-- and valid_until only while it is ACTIVE or SUSPENDED (else NONE, null). The number is echoed
-- as sent and matched trimmed and upper-cased, as the gateway normalises it.
CREATE SCHEMA pgbench_eligibility;

CREATE TYPE pgbench_eligibility.answer AS (
    id_number text,
    found boolean,
    category text,
    status text,
    valid_until date
);

CREATE FUNCTION pgbench_eligibility.eligibility(id_numbers text[])
RETURNS SETOF pgbench_eligibility.answer
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT a.n,
        p.id IS NOT NULL,
        CASE WHEN r.running THEN h.category ELSE 'NONE' END,
        CASE WHEN p.id IS NULL THEN 'UNKNOWN'
             WHEN p.deceased_on IS NOT NULL THEN 'DECEASED'
             WHEN h.id IS NULL THEN 'NO_HOUSEHOLD'
             ELSE h.status END,
        CASE WHEN r.running THEN h.valid_until END
    FROM unnest(id_numbers) WITH ORDINALITY AS a(n, i)
    -- char(18) on both sides: the unique index on persons.id_number answers the lookup
    LEFT JOIN public.persons p ON p.id_number = upper(btrim(a.n))::char(18)
    LEFT JOIN public.memberships m ON m.person_id = p.id AND m.left_on IS NULL
    LEFT JOIN public.households h ON h.id = m.household_id,
    LATERAL (SELECT p.deceased_on IS NULL AND h.status IN ('ACTIVE', 'SUSPENDED')
                    AND h.category <> 'NONE' AS running) r
    ORDER BY a.i
$$;

-- A list, not a connection: the field answers [Answer] as the gateway's answers [Eligibility].
COMMENT ON FUNCTION pgbench_eligibility.eligibility(text[]) IS E'@behavior -connection +list';
