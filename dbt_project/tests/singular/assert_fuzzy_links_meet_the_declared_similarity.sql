{{ config(meta={'dagster': {'ref': {'name': 'fct_identity_links'}}}) }}
-- A fuzzy link always scores at least its rule's declared min_similarity, and exact links
-- carry no score.
with

links as (select * from {{ ref('fct_identity_links') }}),

rules as (select * from {{ ref('identity_rules') }}),

final as (

    select links.*
    from links
    inner join rules
        on links.rule_name = rules.rule_name
    where
        (rules.match_method = 'fuzzy' and not links.similarity_score >= rules.min_similarity)
        or (rules.match_method = 'exact' and links.similarity_score is not null)

)

select * from final
