"""nianbao (年报): crawl and archive Chinese government information-disclosure annual reports.

The layers live in sibling packages: ``crawler`` locates and fetches, ``archive`` keeps,
``scheduler`` runs. This package only holds what joins them: configuration and the CLI.
"""
