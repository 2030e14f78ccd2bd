"""reference data: Jiangsu / Nantong / Qidong regions and the departments of CONTRACT.md

Town-level codes: the National Bureau of Statistics division list (统计用区划代码), 2023 edition,
as mirrored in the public data set modood/Administrative-divisions-of-China (dist/streets.csv);
the 12-digit form appends 000 to the 9-digit town code, as that list does.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGIONS = [
    ("320000000000", "江苏省", "PROVINCE", None),
    ("320600000000", "南通市", "CITY", "320000000000"),
    ("320681000000", "启东市", "COUNTY", "320600000000"),
    ("320681100000", "汇龙镇", "TOWN", "320681000000"),
    ("320681101000", "北新镇", "TOWN", "320681000000"),
    ("320681102000", "惠萍镇", "TOWN", "320681000000"),
    ("320681104000", "东海镇", "TOWN", "320681000000"),
    ("320681106000", "南阳镇", "TOWN", "320681000000"),
    ("320681107000", "海复镇", "TOWN", "320681000000"),
    ("320681108000", "合作镇", "TOWN", "320681000000"),
    ("320681109000", "王鲍镇", "TOWN", "320681000000"),
    ("320681110000", "吕四港镇", "TOWN", "320681000000"),
    ("320681400000", "启东经济开发区", "TOWN", "320681000000"),
    ("320681401000", "启东滨海工业园", "TOWN", "320681000000"),
    ("320681402000", "启东生命健康产业园", "TOWN", "320681000000"),
    ("320681403000", "江苏吕四海洋经济开发区", "TOWN", "320681000000"),
    ("320681404000", "启隆生态科技产业园", "TOWN", "320681000000"),
    ("320681405000", "启东海工船舶工业园", "TOWN", "320681000000"),
    ("320681406000", "启东江海产业园", "TOWN", "320681000000"),
    ("320681407000", "圆陀角旅游度假区", "TOWN", "320681000000"),
    ("320681408000", "启东生命健康科技园", "TOWN", "320681000000"),
]

AGENCIES = [
    ("civil-affairs", "民政", "civil affairs"),
    ("finance", "财政", "finance"),
    ("rural-revitalisation", "乡村振兴", "rural revitalisation"),
    ("medical-security", "医保", "medical security"),
    ("education", "教育", "education"),
    ("hr-social-security", "人社", "human resources and social security"),
    ("housing", "住建", "housing and urban-rural development"),
    ("health", "卫健", "health"),
    ("emergency", "应急", "emergency management"),
    ("public-security", "公安", "public security"),
    ("fire", "消防", "fire services"),
    ("disabled-federation", "残联", "disabled persons' federation"),
    ("trade-union", "工会", "trade unions"),
    ("market-regulation", "市场监管", "market regulation"),
    ("town", "镇/街道", "town governments and street offices"),
    ("coordination", "县级困难群众基本生活保障工作协调机制", "county coordination mechanism"),
]


def upgrade() -> None:
    regions = sa.table(
        "regions",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("level", sa.String),
        sa.column("parent_code", sa.String),
    )
    op.bulk_insert(
        regions, [dict(zip(("code", "name", "level", "parent_code"), r, strict=True)) for r in REGIONS]
    )
    agencies = sa.table(
        "agencies", sa.column("code", sa.String), sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
    )
    op.bulk_insert(
        agencies, [dict(zip(("code", "name_zh", "name_en"), a, strict=True)) for a in AGENCIES]
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM agencies"))
    op.execute(sa.text("DELETE FROM regions WHERE level = 'TOWN'"))
    op.execute(sa.text("DELETE FROM regions WHERE level = 'COUNTY'"))
    op.execute(sa.text("DELETE FROM regions WHERE level = 'CITY'"))
    op.execute(sa.text("DELETE FROM regions WHERE level = 'PROVINCE'"))
