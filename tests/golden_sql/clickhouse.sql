SELECT
  dateTrunc('WEEK', "ts") AS "nsm_period",
  "region" AS "nsm_segment_0",
  GROUPING("region") AS "nsm_all_0",
  COUNT(*) AS "nsm_rows",
  SUM("amount") AS "nsm_m0",
  CAST(SUM("amount" * "qty") AS Nullable(Float64)) / nullIf(
    CAST(SUM(CASE WHEN NOT (
      "amount" IS NULL
    ) THEN "qty" END) AS Nullable(Float64)),
    0
  ) AS "nsm_m1",
  MIN("amount") AS "nsm_m2",
  MAX("amount") AS "nsm_m3",
  (
    CASE
      WHEN COUNT(CASE WHEN "region" = 'it''s a \\ 华东' THEN "amount" END) > 0
      THEN (
        quantileExactLow(0.5)(CASE WHEN "region" = 'it''s a \\ 华东' THEN "amount" END) + quantileExactHigh(0.5)(CASE WHEN "region" = 'it''s a \\ 华东' THEN "amount" END)
      ) / 2
    END
  ) AS "nsm_m4",
  argMax("amount", CASE WHEN NOT (
    "amount" IS NULL
  ) THEN "ts" END) AS "nsm_m5",
  COUNT(CASE WHEN NOT (
    "region" IN ('a', 'b')
  ) THEN 1 END) AS "nsm_m6",
  COUNT(DISTINCT "customer") AS "nsm_m7",
  SUM(
    CASE
      WHEN (
        "qty" >= 2.5
      ) OR (
        NOT (
          "region" <> 'x'
        )
      )
      THEN "amount"
    END
  ) AS "nsm_m8",
  MAX("amount") AS "nsm_m9"
FROM "sales"."order""s"
GROUP BY
  GROUPING SETS (
    (dateTrunc('WEEK', "ts")),
    (dateTrunc('WEEK', "ts"), "region")
  )
